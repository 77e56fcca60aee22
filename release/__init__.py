"""Release tools for a finished output: the ledger check, the dataset card, the HTML report, publishing to the Hub."""
