"""Reading raw files: finding them, streaming their records, decoding JSON strictly."""
