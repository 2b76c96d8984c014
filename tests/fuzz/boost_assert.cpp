// BOOST_ASSERT stays on in the fuzz build (the product's release build has it
// off): an assertion inside Boost is often the first sign that we misuse an
// API. This handler aborts on each, so that libFuzzer reports it, except the
// one below.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

namespace {
// Known wrong assertions of Boost 1.81, which the code after them handles:
// - beast/http/impl/basic_parser.ipp, parse_chunk_header(): "n >= 5" fails
//   when a final chunk "0\r\n" came in one put() and a single byte more in the
//   next; the parser then asks for more, as it should (boostorg/beast#2861,
//   merged in May 2024, after 1.81). A user whose bytes trickle in does that.
bool known_wrong(const char* expr, const char* file) {
    return std::strcmp(expr, "n >= 5") == 0 &&
           std::strstr(file, "boost/beast/http/impl/basic_parser.ipp") != nullptr;
}
}  // namespace

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
    if (known_wrong(expr, file)) return;
    std::fprintf(stderr, "BOOST_ASSERT failed: %s\n  in %s\n  at %s:%ld\n", expr, function, file, line);
    std::abort();
}

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file,
                          long line) {
    std::fprintf(stderr, "BOOST_ASSERT failed: %s (%s)\n  in %s\n  at %s:%ld\n", expr, msg, function,
                 file, line);
    std::abort();
}

}  // namespace boost
