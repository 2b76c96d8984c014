// A Work stream on the client: opened idle, it waits for the server's start
// frame, dials the proxy's local service and then bridges the two.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>


namespace burrow {

class config_source;
class control_session;
struct tracked_stub;
namespace stream {
class registry;
}

// Opens one Work stream presenting `run_id`; `asked`: it answers the
// server's NewWork (else it keeps the pool full). It reports to `session`
// when it is taken into use or ends unused; it owns itself until the RPC is
// done. The user connection it gets goes into `sessions` under its conn id.
void open_work_stream(std::shared_ptr<tracked_stub> stub, boost::asio::any_io_executor ex,
                      std::shared_ptr<const config_source> config, const std::string& run_id,
                      bool asked, stream::registry& sessions,
                      std::weak_ptr<control_session> session);

}  // namespace burrow
