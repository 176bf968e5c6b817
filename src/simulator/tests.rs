//! HTTP-level tests of the simulator.
