/** Length in Unicode code points, so a name in any script gets the same allowance (UTF-16 length would not). */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) count++; // a low surrogate continues the previous code point
  }
  return count;
}
