"""The command line: parsing and printing only; every command calls into the library."""
