//! The address a probe server listens on (`--metrics-bind-address`): `HOST:PORT` with an IP host, or `:PORT` for
//! every IPv4 interface (the spelling the Helm chart and controller-runtime operators use).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A listen address written `HOST:PORT` (`127.0.0.1:8083`, `[::1]:8083`) or `:PORT` (`0.0.0.0:PORT`). It is
/// written back as `HOST:PORT`, so it round-trips through a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BindAddress(SocketAddr);

impl BindAddress {
    /// The socket address to bind.
    pub fn socket_addr(self) -> SocketAddr {
        self.0
    }
}

impl From<SocketAddr> for BindAddress {
    fn from(address: SocketAddr) -> Self {
        Self(address)
    }
}

impl FromStr for BindAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = match text.strip_prefix(':') {
            Some(port) => port.parse::<u16>().ok().map(|port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, port))),
            None => text.parse().ok(),
        };
        parsed.map(Self).ok_or_else(|| format!("{text:?} is not HOST:PORT or :PORT (e.g. 0.0.0.0:8083 or :8083)"))
    }
}

impl TryFrom<String> for BindAddress {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<BindAddress> for String {
    fn from(address: BindAddress) -> Self {
        address.to_string()
    }
}

impl fmt::Display for BindAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_port_and_port_only_spellings_parse() {
        let cases: &[(&str, Option<&str>)] = &[
            (":8083", Some("0.0.0.0:8083")),
            ("0.0.0.0:8084", Some("0.0.0.0:8084")),
            ("127.0.0.1:9", Some("127.0.0.1:9")),
            ("[::1]:8083", Some("[::1]:8083")),
            (":", None),
            (":99999", None),
            ("8083", None),
            ("localhost:8083", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<BindAddress>().ok().map(|a| a.to_string());
            assert_eq!(parsed.as_deref(), *expected, "{text:?}");
        }
        let err = "nope".parse::<BindAddress>().unwrap_err();
        assert!(err.contains("HOST:PORT or :PORT"), "{err}");
    }

    #[test]
    fn it_round_trips_through_serde_as_host_port() {
        let address: BindAddress = serde_json::from_str("\":8083\"").unwrap();
        assert_eq!(serde_json::to_string(&address).unwrap(), "\"0.0.0.0:8083\"");
        assert_eq!(address.socket_addr(), SocketAddr::from(([0, 0, 0, 0], 8083)));
        assert!(serde_json::from_str::<BindAddress>("\"somewhere\"").is_err());
    }
}
