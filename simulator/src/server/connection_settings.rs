//! [`SimulatorBuilder`] settings of the connection limits ([`crate::http::listener`] explains
//! each one and why its default is what it is).

use std::time::Duration;

use super::SimulatorBuilder;

impl SimulatorBuilder {
    /// How long a request's head may take after its first byte, or after the connection opened
    /// (10 s by default). A connection past it is closed without an answer.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.config.connections.header_timeout = timeout;
        self
    }

    /// How long a request's body may take after its head (30 s by default); later, 408.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.config.connections.body_timeout = timeout;
        self
    }

    /// How long a keep-alive connection may stay idle between requests (60 s by default).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.connections.idle_timeout = timeout;
        self
    }

    /// How many connections are served at once (512 by default); further ones wait to be
    /// accepted until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.connections.max_connections = connections.max(1);
        self
    }
}
