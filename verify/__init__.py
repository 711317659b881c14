"""`make verify`: prove, hop by hop and with numbers, that a deployed stack works (see `verify.__main__`)."""
