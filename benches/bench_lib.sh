# Shell helpers shared by the whole-server benchmarks (benches/http.sh, benches/hyper_hello.sh)
# and benches/run_all.sh; sourced, not run.

# Installs the named tools (wrk, nginx) with apt-get if they are missing (sudo when not root).
install_missing() {
    local missing=() tool
    for tool in "$@"; do
        case $tool in
            nginx) command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx) ;;
            *) command -v "$tool" >/dev/null || missing+=("$tool") ;;
        esac
    done
    if ((${#missing[@]})); then
        echo "installing ${missing[*]} with apt-get" >&2
        local sudo=
        [[ $(id -u) -ne 0 ]] && sudo=sudo
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# Waits (up to 10 s) until something accepts connections on 127.0.0.1:$PORT.
wait_listening() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server did not start listening on $PORT" >&2
    return 1
}
