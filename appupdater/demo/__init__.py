"""Demonstrations, not domain: a generated catalog and fleet of simulated devices (`fleet`),
and real device agents started on this machine with a fleet that points at them (`agents`)."""
