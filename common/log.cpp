#include "common/log.hpp"

#include <mutex>
#include <unordered_map>

#include <grpc/support/log.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace burrow::log {
namespace {

struct registry {
    std::mutex mutex;
    spdlog::sink_ptr sink = [] {
        auto s = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        s->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %-7n %v");
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
