fn main() {} // replaced by the benchmark
