"""keeptrust-console: ``kt audit serve``, a read-only web page over an audit log."""
