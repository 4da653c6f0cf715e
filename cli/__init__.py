"""The command-line interface: the composition root for jobs run from a shell."""
