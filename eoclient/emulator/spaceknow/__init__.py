"""The SpaceKnow service as the emulator plays it: accounts and permissions at the bottom, families above."""
