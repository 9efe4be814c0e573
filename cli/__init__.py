"""The `milestones` command line and the processes it starts and supervises (see `cli.main`)."""
