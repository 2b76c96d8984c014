# Warnings and sanitizers for Burrow's own targets only (never generated proto code).
function(burrow_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                         -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
                         -Wimplicit-fallthrough)
  if(BURROW_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-tsan)
  endif()
  if(BURROW_SANITIZE)
    # -O1 -g1 (line tables: stack traces keep file:line): GCC 12 compiles this
    # code a third as fast with ASan + UBSan at -O2 -g (client_session.cpp:
    # 93 s against 31 s; plain -O2 -g: 30 s), which CI's budget cannot carry.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                           -O1 -g1)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # GCC 12 reports false "may be used uninitialized" inside libstdc++ (std::regex,
    # std::function) once ASan instruments it; the plain build keeps the warning.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
