// Transitional: the pump's former name, until every user says stream::pump.
#pragma once

#include "common/stream/pump.hpp"

namespace burrow {
using work_bridge = stream::pump;
}
