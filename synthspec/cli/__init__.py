"""The command line: thin wrappers that call one library function each."""
