//! Free loopback ports picked together. `jaas_e2e::processes::free_port` releases each port before the next call,
//! so two calls in a row can return the same one (seen here: the artifact server's two ports collided); holding
//! every listener until all are picked makes them distinct.

use std::net::TcpListener;

use anyhow::{Context, Result};

/// `N` distinct loopback ports nobody listens on right now (a tiny race with other processes remains).
pub fn distinct_free_ports<const N: usize>() -> Result<[u16; N]> {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port"))
        .collect::<Result<_>>()?;
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}
