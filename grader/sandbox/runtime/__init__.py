"""The worker's runtime: everything the untrusted worker process imports, copied whole into its
root and run there. Imports nothing outside this package but the standard library and NumPy
(relative imports only), so the copy is complete; a kit test checks it.
"""
