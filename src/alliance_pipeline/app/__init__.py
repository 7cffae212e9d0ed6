"""The commands: the alliance command line, the new-cohort scaffold, a cohort's status."""
