//! Wire-level tests of every client call against wiremock, plus the OpenAPI contract test
//! and property tests. One binary keeps the suite quick to build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod common;
mod contract;
mod devices;
mod errors;
mod identity;
mod keys;
mod policy;
mod route_props;
mod routes;
mod tls;
