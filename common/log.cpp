#include "common/log.hpp"

#include <mutex>
#include <unordered_map>

#include <grpc/support/log.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace burrow::log {
namespace {

// The message with control characters escaped ("\x0a"): whatever a peer put
// into a logged value (a client id, a proxy name, gRPC's own words about a
// bad request), one call logs one line, and no terminal escape gets through.
// Call sites still cut and quote peer values (printable()); this is the floor.
class escaped_message final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const auto text = msg.payload;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const auto c = static_cast<unsigned char>(text[i]);
            if (c >= 0x20 && c != 0x7f) {
                dest.push_back(text[i]);
                continue;
            }
            static constexpr char hex[] = "0123456789abcdef";
            const char escaped[] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            dest.append(escaped, escaped + sizeof escaped);
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<escaped_message>();
    }
};

struct registry {
    std::mutex mutex;
    spdlog::sink_ptr sink = [] {
        auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        auto f = std::make_unique<spdlog::pattern_formatter>();
        f->add_flag<escaped_message>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %-7n %*");
        s->set_formatter(std::move(f));
        return s;
    }();
    spdlog::level::level_enum level = spdlog::level::info;
    std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
};

registry& reg() {
    static registry* r = new registry;  // never destroyed: logging works during exit
    return *r;
}

}  // namespace

bool set_level(std::string_view level) {
    auto lvl = spdlog::level::from_str(std::string(level));
    // from_str maps anything unknown to "off"; only accept a real "off".
    if (lvl == spdlog::level::off && level != "off") return false;
    auto& r = reg();
    std::lock_guard lock(r.mutex);
    r.level = lvl;
    for (auto& [_, l] : r.loggers) l->set_level(lvl);
    return true;
}

spdlog::logger& get(const std::string& name) {
    auto& r = reg();
    std::lock_guard lock(r.mutex);
    auto& slot = r.loggers[name];
    if (!slot) {
        slot = std::make_shared<spdlog::logger>(name, r.sink);
        slot->set_level(r.level);
        slot->flush_on(spdlog::level::trace);  // lines reach the terminal (and tests) at once
    }
    return *slot;
}

void route_grpc_logs() {
    gpr_set_log_function([](gpr_log_func_args* args) {
        get("grpc").debug("{}:{} {}", args->file, args->line, args->message);
    });
}

}  // namespace burrow::log
