# Turns a file into a C array at build time, so the binary serves it without reading the source tree:
#   cmake -DIN=web/index.html -DOUT=build/web_index_html.c -DNAME=sv_index_html -P web/embed.cmake
# defines `const unsigned char NAME[]` (the bytes plus a terminating NUL) and `const size_t NAME_len`.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(name_only "${IN}" NAME)
file(WRITE "${OUT}.tmp"
     "// Generated from ${name_only} by web/embed.cmake at build time; edit the source file instead.\n"
     "#include \"serve/web_page.h\"\n"
     "const unsigned char ${NAME}[] = {${bytes}0x00};\n"
     "const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
