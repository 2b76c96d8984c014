// Logging: named spdlog loggers per subsystem sharing one stderr sink.
//
// Lifecycle lines (login, proxy up/down, connection open/close) are a stable
// interface: tests and users grep them. Change their wording only deliberately.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace burrow::log {

// Sets the level of every logger, present and future. Returns false for an
// unknown level name (trace, debug, info, warn, error, off).
bool set_level(std::string_view level);

// The logger for one subsystem ("server", "control", "proxy", ...), created on
// first use. Loggers are never destroyed, so the pointer may be cached.
spdlog::logger& get(const std::string& name);

// Sends gRPC's own log lines (by default only its errors, e.g. a failed
// handshake, which Burrow reports itself in context) to the "grpc" logger at
// debug level, so that they neither clutter nor break the log format.
void route_grpc_logs();

}  // namespace burrow::log
