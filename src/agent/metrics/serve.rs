//! The daemon's metrics endpoint: HTTP/1.1 over a std `TcpListener`, `GET /metrics` answered
//! with the OpenMetrics text, 404 for any other path, one request per connection on one thread.
//! A request is bounded in size and time so that a slow or hostile client cannot hold it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use super::openmetrics::CONTENT_TYPE;

/// The largest request head read; a longer one is answered 431 and closed.
pub const MAX_REQUEST: usize = 8192;

/// How long a client may take to send its request, or to read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A running endpoint: where it listens. Its thread lives as long as the process.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on (the real port when port 0 was asked).
    pub addr: SocketAddr,
}

/// Listens on `listen` and answers `GET /metrics` with `render()` on a thread of its own.
/// Binding fails at once (address in use, not allowed) with the address in the error.
pub fn serve(listen: SocketAddr, render: impl Fn() -> String + Send + 'static) -> Result<Server> {
    let listener = TcpListener::bind(listen)
        .wrap_err_with(|| format!("listening on {listen} for the metrics endpoint"))?;
    let addr = listener
        .local_addr()
        .wrap_err_with(|| format!("the address of the metrics endpoint on {listen}"))?;
    std::thread::Builder::new()
        .name("metrics-http".to_string())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    // A client gone mid-answer only ends its connection.
                    Ok(stream) => {
                        let _ = answer(stream, &render);
                    }
                    // Out of descriptors, say: wait a little rather than spin on accept.
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        })
        .wrap_err("starting the metrics endpoint's thread")?;
    Ok(Server { addr })
}

/// Reads the request head, up to its blank line, within [`MAX_REQUEST`] bytes.
fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(Some(head));
        }
        head.extend_from_slice(&buf[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
        if head.len() > MAX_REQUEST {
            return Ok(None);
        }
    }
}

/// The status line, content type and body for a request head.
fn respond(
    head: Option<&[u8]>,
    render: &dyn Fn() -> String,
) -> (&'static str, &'static str, String) {
    let Some(head) = head else {
        return (
            "431 Request Header Fields Too Large",
            "text/plain; charset=utf-8",
            "request too large\n".to_string(),
        );
    };
    let text = String::from_utf8_lossy(head);
    let mut words = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/metrics") => ("200 OK", CONTENT_TYPE, render()),
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found: the metrics are at /metrics\n".to_string(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "only GET is answered\n".to_string(),
        ),
    }
}

fn answer(mut stream: TcpStream, render: &dyn Fn() -> String) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let head = read_head(&mut stream)?;
    let (status, content_type, body) = respond(head.as_deref(), render);
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(reply.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(request).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn the_endpoint_answers_metrics_and_404_otherwise() {
        let server = serve("127.0.0.1:0".parse().unwrap(), || {
            "# TYPE x gauge\nx 1\n# EOF\n".to_string()
        })
        .unwrap();
        let ok = get(server.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")),
            "{ok}"
        );
        assert!(ok.ends_with("\r\n\r\n# TYPE x gauge\nx 1\n# EOF\n"), "{ok}");
        let missing = get(server.addr, b"GET / HTTP/1.1\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        let post = get(server.addr, b"POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    }

    #[test]
    fn an_oversized_request_is_refused_and_the_endpoint_goes_on() {
        let server = serve("127.0.0.1:0".parse().unwrap(), || "# EOF\n".to_string()).unwrap();
        let mut big = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 3 * MAX_REQUEST));
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server may close while we still write: only its answer matters.
        let _ = s.write_all(&big);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 431 "), "{out}");
        let ok = get(server.addr, b"GET /metrics HTTP/1.1\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    }

    #[test]
    fn binding_a_taken_address_names_it() {
        let first = serve("127.0.0.1:0".parse().unwrap(), String::new).unwrap();
        let err = serve(first.addr, String::new).unwrap_err();
        assert!(
            format!("{err:#}").contains(&first.addr.to_string()),
            "{err:#}"
        );
    }
}
