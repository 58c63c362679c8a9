"""The pure middle of the loop: the task an invoice should have, the fewest operations that get
it there, and whose status holds. No I/O, no clock, no store: same inputs, same answer."""
