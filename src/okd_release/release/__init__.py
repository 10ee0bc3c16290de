"""Release payload logic: the payload format (`payload`), then one package per command: `info`, `new`, `extract`, `mirror`."""
