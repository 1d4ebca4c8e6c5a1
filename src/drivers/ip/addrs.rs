//! Reading `ip -o addr show dev DEV`: which addresses an interface carries, with their prefix
//! length and label, and the netmask a new address should take.

use std::net::IpAddr;

/// One address line of `ip -o addr show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// Its label (`eth0`, `eth0:1`).
    pub label: String,
}

/// Parses `ip -o addr show` output (one address per line; the label is the last word before
/// `valid_lft` for IPv4).
pub fn parse(text: &str) -> Vec<IfAddr> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "inet" || *w == "inet6")?;
            let (addr, prefix) = words.get(at + 1)?.split_once('/')?;
            let addr: IpAddr = addr.parse().ok()?;
            let prefix: u8 = prefix.parse().ok()?;
            let label = words
                .iter()
                .position(|w| *w == "valid_lft")
                .and_then(|v| words.get(v.checked_sub(1)?))
                // `ip -o` ends the line's first part with a backslash glued to the label.
                .map(|l| l.trim_end_matches('\\'))
                .filter(|l| !l.is_empty() && !["dynamic", "noprefixroute", "secondary"].contains(l))
                .map(|l| l.to_string())
                .unwrap_or_else(|| words.get(1).copied().unwrap_or_default().to_string());
            Some(IfAddr {
                addr,
                prefix,
                label,
            })
        })
        .collect()
}

/// Whether `a` and `b` are in the same network of `prefix` bits.
pub fn same_network(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix.min(32)))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix.min(128)))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// Reads a `netmask` keyword: a prefix length (`24`) or a dotted mask (`255.255.255.224`).
pub fn parse_netmask(text: &str) -> Option<u8> {
    let t = text.trim().trim_start_matches('/');
    if let Ok(n) = t.parse::<u8>() {
        return (n <= 128).then_some(n);
    }
    let mask: std::net::Ipv4Addr = t.parse().ok()?;
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// The prefix a new address takes on an interface: the one of an existing address of the same
/// network.
pub fn subnet_prefix(existing: &[IfAddr], addr: IpAddr) -> Option<u8> {
    existing
        .iter()
        .find(|e| !e.label.contains(':') && same_network(e.addr, addr, e.prefix))
        .or_else(|| {
            existing
                .iter()
                .find(|e| same_network(e.addr, addr, e.prefix))
        })
        .map(|e| e.prefix)
}

/// The first free alias label `dev:N` (N from 1), as the seed's `eth0:1`.
pub fn free_label(existing: &[IfAddr], dev: &str) -> String {
    (1..)
        .map(|n| format!("{dev}:{n}"))
        .find(|l| !existing.iter().any(|e| &e.label == l))
        .unwrap_or_else(|| format!("{dev}:1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = "2: eth0    inet 10.99.0.11/24 brd 10.99.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n\
2: eth0    inet 10.99.0.21/24 scope global secondary eth0:1\\       valid_lft forever preferred_lft forever\n\
2: eth0    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever\n";

    #[test]
    fn parses_addresses_labels_and_prefixes() {
        let a = parse(SHOW);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].addr.to_string(), "10.99.0.11");
        assert_eq!(a[0].prefix, 24);
        assert_eq!(a[0].label, "eth0");
        assert_eq!(a[1].label, "eth0:1");
        assert_eq!(a[2].prefix, 64);
    }

    #[test]
    fn new_address_takes_the_interface_subnet_and_a_free_label() {
        let a = parse(SHOW);
        let ip: IpAddr = "10.99.0.22".parse().expect("ip");
        assert_eq!(subnet_prefix(&a, ip), Some(24));
        assert_eq!(subnet_prefix(&a, "192.168.1.1".parse().expect("ip")), None);
        assert_eq!(free_label(&a, "eth0"), "eth0:2");
    }

    #[test]
    fn netmasks_in_both_notations() {
        assert_eq!(parse_netmask("255.255.255.224"), Some(27));
        assert_eq!(parse_netmask("24"), Some(24));
        assert_eq!(parse_netmask("/16"), Some(16));
        assert_eq!(parse_netmask("255.0.255.0"), None);
        assert_eq!(parse_netmask("banana"), None);
    }
}
