"""The command-line conventions every stackcurate command shares (help, typos, one-line errors, exit codes)."""
