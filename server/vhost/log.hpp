// The vhost's logger: one name for the http and https sides.
#pragma once

#include "common/log.hpp"

namespace burrow::vhost {

inline spdlog::logger& vhost_log() {
    static spdlog::logger& l = log::get("vhost");
    return l;
}

}  // namespace burrow::vhost
