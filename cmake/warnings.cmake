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
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    # GCC 12 reports false "may be used uninitialized" inside libstdc++ (std::regex,
    # std::function) once ASan instruments it; the plain build keeps the warning.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
