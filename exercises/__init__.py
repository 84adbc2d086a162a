"""The week-1 exercises. Fill in each function that raises NotImplementedError."""
