// 1-byte ping-pong on one bidirectional gRPC stream over loopback: gRPC's
// callback API (what Burrow's carriers use) against its completion-queue API
// driven by threads of the program's own. The pong goes out from the thread
// that delivered the ping, as Burrow's pumps do. The bench's grpcapi section
// builds and runs this (scripts/bench/burrow_bench/sections/grpcapi.py).
//
//   grpc_api_pingpong serve API          prints its port, echoes every message
//   grpc_api_pingpong ping API PORT N SERVER_PID
//                                        N timed round trips; one JSON line
// API: callback | queue (one thread waits on the queue) | queue2 (two do,
// as a program with other work would have; the pinging side stays at one).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

namespace {

using clock_type = std::chrono::steady_clock;
constexpr const char* method = "/bench.Echo/Bidi";

grpc::ByteBuffer one_byte() {
    grpc::Slice s("x", 1);
    return grpc::ByteBuffer(&s, 1);
}

double micros(clock_type::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Context switches of every thread of `pid`: voluntary (wake-ups) and all.
struct switches {
    long voluntary = 0, all = 0;
};
switches count_switches(int pid) {
    switches n;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::ifstream f(task.path() / "status");
        for (std::string line; std::getline(f, line);) {
            const bool vol = line.rfind("voluntary_ctxt_switches:", 0) == 0;
            if (vol || line.rfind("nonvoluntary_ctxt_switches:", 0) == 0) {
                const long v = std::stol(line.substr(line.find(':') + 1));
                n.all += v;
                if (vol) n.voluntary += v;
            }
        }
    }
    return n;
}

// user + system CPU seconds of `pid`.
double cpu_seconds(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(f)), {});
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double t = 0;
    for (int i = 3; rest >> field && i <= 15; ++i)
        if (i >= 14) t += std::stod(field) / double(sysconf(_SC_CLK_TCK));
    return t;
}

// ---- the echo side ----

class echo_reactor final : public grpc::ServerGenericBidiReactor {
public:
    echo_reactor() { StartRead(&buf_); }
    void OnReadDone(bool ok) override { ok ? StartWrite(&buf_) : Finish(grpc::Status::OK); }
    void OnWriteDone(bool ok) override { ok ? StartRead(&buf_) : Finish(grpc::Status::OK); }
    void OnDone() override { delete this; }

private:
    grpc::ByteBuffer buf_;
};

class callback_echo final : public grpc::CallbackGenericService {
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
        return new echo_reactor;
    }
};

// One call on the completion queue; each tag is one of its operations.
class queue_echo {
public:
    queue_echo(grpc::AsyncGenericService& service, grpc::ServerCompletionQueue* cq)
        : service_(service), cq_(cq) {
        service_.RequestCall(&ctx_, &stream_, cq_, cq_, &ops_[accepted]);
    }
    static void run(void* tag, bool ok) {
        auto* o = static_cast<op*>(tag);
        o->call->on(o->what, ok);
    }

private:
    enum step { accepted, read, written, finished };
    struct op {
        queue_echo* call;
        step what;
    };
    void on(step k, bool ok) {
        if (k == finished || (k == accepted && !ok)) return delete this;
        if (k == accepted) new queue_echo(service_, cq_);  // the next call
        if (!ok) return stream_.Finish(grpc::Status::OK, &ops_[finished]);
        if (k == read)
            stream_.Write(buf_, &ops_[written]);
        else
            stream_.Read(&buf_, &ops_[read]);
    }

    grpc::AsyncGenericService& service_;
    grpc::ServerCompletionQueue* cq_;
    grpc::GenericServerContext ctx_;
    grpc::GenericServerAsyncReaderWriter stream_{&ctx_};
    grpc::ByteBuffer buf_;
    op ops_[4] = {{this, accepted}, {this, read}, {this, written}, {this, finished}};
};

int serve(const std::string& api) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    callback_echo by_callback;
    grpc::AsyncGenericService by_queue;
    std::unique_ptr<grpc::ServerCompletionQueue> cq;
    if (api == "callback") {
        builder.RegisterCallbackGenericService(&by_callback);
    } else {
        builder.RegisterAsyncGenericService(&by_queue);
        cq = builder.AddCompletionQueue();
    }
    auto server = builder.BuildAndStart();
    if (!server) return 1;
    std::printf("%d\n", port);
    std::fflush(stdout);
    if (api == "callback") {
        server->Wait();
        return 0;
    }
    new queue_echo(by_queue, cq.get());
    auto loop = [&] {
        void* tag;
        bool ok;
        while (cq->Next(&tag, &ok)) queue_echo::run(tag, ok);
    };
    std::vector<std::jthread> more;
    if (api == "queue2") more.emplace_back(loop);
    loop();  // until killed
    return 0;
}

// ---- the pinging side ----

// The next ping goes once the pong and the ping's write completion are both in.
class ping_reactor final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
public:
    explicit ping_reactor(int n) : n_(n), out_(one_byte()) { times.reserve(n); }
    void go() {
        sent_ = clock_type::now();
        StartWrite(&out_);
        StartRead(&in_);
        StartCall();
    }
    void OnReadDone(bool ok) override {
        if (!ok) return;
        times.push_back(micros(clock_type::now() - sent_));
        step();
    }
    void OnWriteDone(bool ok) override {
        if (ok) step();
    }
    void OnDone(const grpc::Status&) override {
        std::lock_guard lock(mutex_);
        done_ = true;
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return done_; });
    }
    std::vector<double> times;

private:
    void step() {
        if (++events_ % 2) return;
        if (int(times.size()) == n_) return StartWritesDone();
        sent_ = clock_type::now();
        StartWrite(&out_);
        StartRead(&in_);
    }
    const int n_;
    grpc::ByteBuffer out_, in_;
    clock_type::time_point sent_;
    std::atomic<int> events_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
};

std::vector<double> ping(const std::string& api, int port, int n) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::ClientContext ctx;
    if (api == "callback") {
        ping_reactor r(n);
        stub.PrepareBidiStreamingCall(&ctx, method, grpc::StubOptions(), &r);
        r.go();
        r.wait();
        return std::move(r.times);
    }
    grpc::CompletionQueue cq;
    auto call = stub.PrepareCall(&ctx, method, &cq);
    void* tag;
    bool ok;
    auto next = [&](int count) {
        for (int i = 0; i < count; ++i)
            if (!cq.Next(&tag, &ok) || !ok) return false;
        return true;
    };
    call->StartCall(nullptr);
    if (!next(1)) return {};
    std::vector<double> times;
    times.reserve(n);
    const auto out = one_byte();
    grpc::ByteBuffer in;
    for (int i = 0; i < n; ++i) {
        const auto t0 = clock_type::now();
        call->Write(out, nullptr);
        call->Read(&in, nullptr);
        if (!next(2)) return {};
        times.push_back(micros(clock_type::now() - t0));
    }
    call->WritesDone(nullptr);
    next(1);
    grpc::Status status;
    call->Finish(&status, nullptr);
    next(1);
    return times;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    const auto known = [](const std::string& api) {
        return api == "callback" || api == "queue" || api == "queue2";
    };
    if (args.size() == 2 && args[0] == "serve" && known(args[1])) return serve(args[1]);
    if (args.size() != 5 || args[0] != "ping" || !known(args[1])) {
        std::fprintf(stderr, "usage: grpc_api_pingpong serve API | ping API PORT N SERVER_PID\n"
                             "API: callback, queue, queue2\n");
        return 2;
    }
    const auto api = args[1] == "queue2" ? std::string("queue") : args[1];
    const int port = std::stoi(args[2]), n = std::stoi(args[3]), server = std::stoi(args[4]);
    if (ping(api, port, std::max(100, n / 10)).empty()) return 1;  // warm-up
    const int self = getpid();
    const auto s0 = count_switches(server), c0 = count_switches(self);
    const double sc0 = cpu_seconds(server), cc0 = cpu_seconds(self);
    auto times = ping(api, port, n);
    const auto s1 = count_switches(server), c1 = count_switches(self);
    const double sc1 = cpu_seconds(server), cc1 = cpu_seconds(self);
    if (int(times.size()) != n) return 1;
    std::sort(times.begin(), times.end());
    const auto per = [n](double v) { return v / n; };
    std::printf("{\"p50_us\": %.1f, \"p99_us\": %.1f, \"wakeups_server\": %.2f, "
                "\"wakeups_client\": %.2f, \"switches_server\": %.2f, \"switches_client\": %.2f, "
                "\"cpu_us_server\": %.1f, \"cpu_us_client\": %.1f}\n",
                times[n / 2], times[std::size_t(n) * 99 / 100], per(s1.voluntary - s0.voluntary),
                per(c1.voluntary - c0.voluntary), per(s1.all - s0.all), per(c1.all - c0.all),
                per((sc1 - sc0) * 1e6), per((cc1 - cc0) * 1e6));
    return 0;
}
