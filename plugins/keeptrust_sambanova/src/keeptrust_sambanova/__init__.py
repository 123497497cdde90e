"""sambanova backend for keeptrust-hf: sambanova's own API with your sambanova key"""
