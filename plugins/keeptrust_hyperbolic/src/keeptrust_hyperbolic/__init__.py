"""hyperbolic backend for keeptrust-hf: hyperbolic's own API with your hyperbolic key"""
