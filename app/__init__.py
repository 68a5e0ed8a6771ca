"""mpipanel's Qt GUI (PySide6), the MPI client's rank-0 window."""
