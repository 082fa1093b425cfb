fn main() {} // replaced by the tokio+hyper server
