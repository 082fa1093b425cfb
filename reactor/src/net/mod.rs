//! Networking: TCP, UDP and Unix sockets (filled by the net work).
