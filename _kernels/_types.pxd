# Index type of every integer array the kernels take (neighbour lists, exponents,
# degrees): numpy.intp, i.e. Py_ssize_t. C `long` is 32-bit on Windows, where NumPy 2's
# default integer is 64-bit, so `long` buffers would not accept the arrays there.
ctypedef Py_ssize_t intp_t
