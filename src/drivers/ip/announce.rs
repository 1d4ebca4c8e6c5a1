//! The gratuitous ARP that tells the network where an address now lives (the OpenSVC
//! tutorial's `arping -U -c 1 -I eth0 -s ADDR ADDR`), sent from a packet socket. `arping -U`
//! sends its one request at once and then waits a second for replies that never come for an
//! unsolicited announcement; sending the same request here costs nothing on a failover's path.

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{eth, sendto, socket, AddressFamily, SendFlags, SocketType};

use crate::transport::run_child;

/// `ETH_P_ARP`.
const ETH_P_ARP: u16 = 0x0806;
/// `ARPHRD_ETHER`.
const ARPHRD_ETHER: u16 = 1;

/// The kernel's `struct sockaddr_ll`: where a packet socket sends (interface, link address).
#[repr(C)]
struct LinkAddr {
    family: u16,
    protocol: u16,
    ifindex: i32,
    hatype: u16,
    pkttype: u8,
    halen: u8,
    addr: [u8; 8],
}

// SAFETY: `LinkAddr` is `repr(C)` with the layout of `sockaddr_ll`, and the pointer handed to
// `f` points to `self`, readable for its whole size, for the duration of the call.
unsafe impl SocketAddrArg for LinkAddr {
    unsafe fn with_sockaddr<R>(
        &self,
        f: impl FnOnce(*const SocketAddrOpaque, SocketAddrLen) -> R,
    ) -> R {
        f(
            (self as *const Self).cast(),
            std::mem::size_of::<Self>() as SocketAddrLen,
        )
    }
}

/// An interface's index and Ethernet address, from `ip -o link show dev DEV` (the same view of
/// the network namespace as the address commands).
pub fn link_of(dev: &str) -> Result<(i32, [u8; 6])> {
    let mut cmd = Command::new("ip");
    cmd.args(["-o", "link", "show", "dev", dev]);
    let out = run_child(cmd, None, Some(Duration::from_secs(10)))?;
    if !out.success {
        bail!("ip link show dev {dev}: {}", out.failure_reason());
    }
    parse_link(&out.stdout_text()).ok_or_else(|| eyre!("{dev} has no Ethernet address"))
}

fn parse_link(line: &str) -> Option<(i32, [u8; 6])> {
    let index = line.split(':').next()?.trim().parse().ok()?;
    let mut words = line.split_whitespace();
    words.find(|w| *w == "link/ether")?;
    let mac = words.next()?;
    let mut out = [0u8; 6];
    let mut parts = mac.split(':');
    for byte in &mut out {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some((index, out))
}

/// The ARP request announcing `addr` at `mac` (sender and target address both `addr`).
fn request(addr: Ipv4Addr, mac: [u8; 6]) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[0..2].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&1u16.to_be_bytes()); // request, as arping -U
    p[8..14].copy_from_slice(&mac);
    p[14..18].copy_from_slice(&addr.octets());
    // target hardware address: unknown (zeros)
    p[24..28].copy_from_slice(&addr.octets());
    p
}

/// Broadcasts the announcement of `addr` on `dev`; returns the Ethernet address announced.
pub fn announce(addr: Ipv4Addr, dev: &str) -> Result<String> {
    let (ifindex, mac) = link_of(dev)?;
    let fd = socket(AddressFamily::PACKET, SocketType::DGRAM, Some(eth::ARP))
        .wrap_err("opening a packet socket")?;
    let to = LinkAddr {
        family: AddressFamily::PACKET.as_raw(),
        protocol: ETH_P_ARP.to_be(),
        ifindex,
        hatype: ARPHRD_ETHER,
        pkttype: 0,
        halen: 6,
        addr: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0],
    };
    sendto(&fd, &request(addr, mac), SendFlags::empty(), &to)
        .wrap_err_with(|| format!("sending the ARP announcement on {dev}"))?;
    Ok(mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_line_gives_the_index_and_the_ethernet_address() {
        let line = "2: eth0@if11: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state \
                    UP mode DEFAULT group default qlen 1000\\    link/ether de:55:5c:f8:e4:8e brd \
                    ff:ff:ff:ff:ff:ff link-netnsid 0";
        assert_eq!(
            parse_link(line),
            Some((2, [0xde, 0x55, 0x5c, 0xf8, 0xe4, 0x8e]))
        );
        assert_eq!(
            parse_link("1: lo: <LOOPBACK> mtu 65536\\    link/loopback 00:00:00:00:00:00"),
            None
        );
    }

    #[test]
    fn the_announcement_names_the_address_as_sender_and_target() {
        let p = request(Ipv4Addr::new(10, 0, 0, 7), [2, 0, 0, 0, 0, 1]);
        assert_eq!(&p[0..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&p[8..14], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(&p[14..18], &[10, 0, 0, 7]);
        assert_eq!(&p[18..24], &[0; 6]);
        assert_eq!(&p[24..28], &[10, 0, 0, 7]);
    }
}
