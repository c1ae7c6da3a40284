//! A simulated Talos cluster, Image Factory and tailnet served on loopback for tests, benchmarks and demos.
