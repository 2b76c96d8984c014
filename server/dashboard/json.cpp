// Boost.JSON's implementation, compiled once (header-only use).
#include <boost/json/src.hpp>
