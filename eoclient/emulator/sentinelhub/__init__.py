"""The Sentinel Hub service as the emulator plays it, one module (or package) per API family."""
