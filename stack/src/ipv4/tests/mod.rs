//! Packet scripts for the network layer, in virtual time: frames built with the wire Reprs go
//! in, frames that come out are parsed back and checked field by field.

mod harness;

mod arp;
mod echo;
mod fragmentation;
mod icmp_errors;
mod malformed;
mod pmtu;
mod reassembly;
mod routing;
mod unreachable;
