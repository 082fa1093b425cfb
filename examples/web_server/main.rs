fn main() {} // replaced by the web server
