"""nebius backend for keeptrust-hf: nebius's own API with your nebius key"""
