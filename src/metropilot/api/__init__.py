"""HTTP plumbing shared by every context's routes: errors, audiences, pagination, formats."""
