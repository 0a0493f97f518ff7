"""Human annotation: invites, assignment with overlap, submissions, gold checks."""
