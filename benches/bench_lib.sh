# Shell helpers shared by the whole-server benchmarks (benches/http.sh, benches/hyper_hello.sh);
# sourced, not run.

# Waits (up to 10 s) until something accepts connections on 127.0.0.1:$PORT.
wait_listening() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server did not start listening on $PORT" >&2
    return 1
}
