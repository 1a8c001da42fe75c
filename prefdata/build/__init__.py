"""``prefdata build``: raw files -> shape adapters -> rules -> partitions -> dedup/split -> OUT."""
